"""The console adapter: the chat grammar in a terminal (`laurel chat`)."""
