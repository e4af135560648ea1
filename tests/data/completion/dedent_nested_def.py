#: mode: "multi-line"
#: model: "nonlocal count\n        count += 1\n        return count\n\n    return increment\n"
#: text: "nonlocal count\n        count += 1\n        return count"
def make_counter():
    count = 0

    def increment():
        █
