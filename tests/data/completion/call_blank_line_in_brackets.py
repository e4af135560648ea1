#: mode: "single-line"
#: reason: "blank line inside brackets"
#: model: "alpha,\n    beta,\n"
#: text: "alpha,"
result = compute(
    █
)
