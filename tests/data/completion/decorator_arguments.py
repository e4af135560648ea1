#: mode: "single-line"
#: model: "\"/health\")\n"
#: text: "\"/health\""
@app.route(█)
def health():
    return "ok"
