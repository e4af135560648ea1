#: mode: "single-line"
#: model: "strip().lower().replace(\" \", \"-\")\n    return slug\n"
#: text: "strip().lower().replace(\" \", \"-\")"
def slugify(title):
    slug = title.█
