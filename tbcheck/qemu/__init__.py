"""Recording a real QEMU guest's timebase over QMP (``tbcheck record``).

``machine`` resolves the binary and machine arguments, ``vm`` drives one QEMU process and logs
every command, event and TB read to the trace, ``scenarios`` holds the stop/cont, migration and
snapshot sequences, and ``recorder`` runs them with guaranteed cleanup. ``qemu.qmp`` is imported
only by ``vm``, so the rest of tbcheck starts without it.
"""
