#: mode: "single-line"
#: reason: "continuing a comment"
#: model: " and wait for orbit\n"
#: text: " and wait for orbit"
# 🚀 launch the rockets█
