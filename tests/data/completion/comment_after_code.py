#: mode: "single-line"
#: reason: "continuing a comment"
#: model: " everything\n"
#: text: " everything"
answer = 42  # the answer to█
