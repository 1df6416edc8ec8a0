"""The conversation engine: flows as data, checked and run without Flask, RQ, SQLAlchemy or Twilio.

`format` defines a flow and loads one from plain data, `validate` reads and checks flow files,
`run` steps a conversation, `answers` reads replies, `expressions` evaluates route conditions,
`text` fills in message variables, `actions` is the registry of named capabilities and `voice`
plans what a call says and gathers. See flows/README.md for the format.
"""
