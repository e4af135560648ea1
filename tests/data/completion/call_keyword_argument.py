#: mode: "single-line"
#: model: "10)\n"
#: text: "10"
import requests

response = requests.get(url, timeout=█)
