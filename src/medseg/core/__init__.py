"""medseg.core: the ground floor. Each rule that several layers share lives here, once.

errors (one-line user errors), atomic writes, lazy exports, vocabularies (the names a config may
use), JSON/model read-write, one ``parallel_map`` and the U-Net topology rule. Imports nothing
from medseg; numpy at most.
"""
