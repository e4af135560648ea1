#: mode: "multi-line"
#: model: "print(banner, name)\n    return banner +"
#: text: "print(banner, name)"
#: guarded: true
def cheer(name):
    banner = "🎉🎉🎉 你好"
    █
