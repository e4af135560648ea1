#: mode: "multi-line"
#: model: "def list_users():\n    return jsonify(users)\n\n\n@app.route(\"/users/<id>\")\n"
#: text: "def list_users():\n    return jsonify(users)"
from flask import Flask, jsonify

app = Flask(__name__)
users = []


@app.route("/users")
█
