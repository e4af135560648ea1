#: mode: "single-line"
#: model: "a, b)\n"
#: text: "a, b"
def run(a, b):
	if a:
		return compute(█)
