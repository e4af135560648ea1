#: mode: "multi-line"
#: model: "print(banner, \"👋\", name)\n    return banner\n\n\ndef main():\n"
#: text: "print(banner, \"👋\", name)\n    return banner"
def cheer(name):
    banner = "🎉🎉🎉"
    █
