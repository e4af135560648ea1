#: mode: "none"
#: reason: "inside a comment"
#: model: "grand"
# compute the █ total
total = sum(prices)
