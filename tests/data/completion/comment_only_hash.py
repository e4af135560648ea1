#: mode: "none"
#: reason: "inside a comment"
#: model: " helper\n"
#█
