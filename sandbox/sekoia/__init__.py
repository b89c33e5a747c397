"""The emulated Sekoia.io API (nothing is imported here; import the module you need).

emulator.py  SekoiaEmulator and everything it answers with
"""
