#: mode: "single-line"
#: model: ", b))\n"
#: text: ", b)"
x = foo(a█
