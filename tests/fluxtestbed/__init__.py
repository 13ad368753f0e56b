"""The local test bed: a real Kubernetes control plane with kwok nodes, and a
real git server (OpenSSH sshd, smart HTTP, file://), all on 127.0.0.1."""
