"""Version 14: the reminder interval is the desk setting ``reminders.every``; older desks stored it as
``remind_every`` (``crm remind --every``). Their value is carried over under the new key, unless the new
key was set already (then the newer value stands), and the old row goes.
"""

from peewee import Database

CARRY_OVER = """
INSERT INTO setting ("key", "value")
SELECT 'reminders.every', "value" FROM setting
WHERE "key" = 'remind_every' AND NOT EXISTS (SELECT 1 FROM setting WHERE "key" = 'reminders.every')
"""


def apply(db: Database) -> None:
    db.execute_sql(CARRY_OVER)
    db.execute_sql("""DELETE FROM setting WHERE "key" = 'remind_every'""")
