import Database from "better-sqlite3"
const [root] = process.argv.slice(2)
const db = new Database(root + "/home/daemon.db")
db.prepare("UPDATE realms SET local_path = ? WHERE name = 'scale'").run(root + "/realm-scale")
console.log(db.prepare("SELECT name, local_path, head_position FROM realms").all())
