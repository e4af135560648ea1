#: mode: "single-line"
#: model: "True"
#: text: "True"
config = {"debug": █, "verbose": False}
