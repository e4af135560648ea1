#: mode: "none"
#: reason: "mid-identifier"
#: model: "unit_"
total = █price * 2
