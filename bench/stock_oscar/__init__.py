"""Stock django-oscar, configured like its sandbox, as the storefront's peer (bench/oscar_peer.py)."""
