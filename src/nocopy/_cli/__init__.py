"""The commands of ``python -m nocopy`` (audit, bench, shm). The runtime never imports this
package; each command is loaded only when it runs (and `nc.audit` only when first used)."""
