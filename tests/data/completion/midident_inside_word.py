#: mode: "none"
#: reason: "mid-identifier"
#: model: "ul"
resu█lt = compute()
