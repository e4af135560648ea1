#: mode: "multi-line"
#: reason: "empty block after a header"
#: model: "return None\n    case \"help\":\n        print(HELP)\n"
#: text: "return None"
def handle(command):
    match command:
        case "quit":
            █
