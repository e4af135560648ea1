#: mode: "multi-line"
#: model: "import os\n"
#: text: "import os"
█