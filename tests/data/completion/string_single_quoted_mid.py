#: mode: "none"
#: reason: "inside a string"
#: model: "Augusta"
name = 'Ada █ Lovelace'
