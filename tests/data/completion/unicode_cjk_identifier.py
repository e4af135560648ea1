#: mode: "single-line"
#: model: "名前\n"
#: text: "名前"
名前 = input()
挨拶 = "こんにちは、" + █
