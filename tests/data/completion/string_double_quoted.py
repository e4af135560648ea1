#: mode: "none"
#: reason: "inside a string"
#: model: "world\""
message = "Hello █"
