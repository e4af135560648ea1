#: mode: "single-line"
#: model: "count) + \"!\"\n"
#: text: "count) + \"!\""
#: replace: 1
label = "🎉 " + str(█)
