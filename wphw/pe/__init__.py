"""Reference implementations of the processing elements (PEs) in software.

:mod:`wphw.services.esp` is the encrypted packet format of the ``encrypt``/``decrypt`` service
(ChaCha20, RFC 8439), shared by the hardware testbenches and the software PE.
"""
