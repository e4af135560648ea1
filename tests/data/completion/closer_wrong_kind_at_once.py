#: mode: "single-line"
#: model: "]\n"
#: text: ""
x = foo(a█
