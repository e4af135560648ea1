#: mode: "single-line"
#: reason: "continuing a comment"
#: model: "解析每一行\n"
#: text: "解析每一行"
# 读取配置文件，然后█
