#: mode: "single-line"
#: model: "count)\n"
#: text: "count"
print("🎉 done", █)
