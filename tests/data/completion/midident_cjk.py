#: mode: "none"
#: reason: "mid-identifier"
#: model: "的"
print(名█前)
