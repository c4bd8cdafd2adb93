"""Adapters translate between platforms (chat, storage, directory) and the core."""
