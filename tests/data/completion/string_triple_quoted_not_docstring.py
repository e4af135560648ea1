#: mode: "none"
#: reason: "inside a string"
#: model: "email"
def query(db):
    sql = """
        SELECT name, █
        FROM users
    """
    return db.execute(sql)
