#: mode: "none"
#: reason: "mid-identifier"
#: model: "0"
limit = 1█00
