"""What the cluster runs, as data and small pure functions: node labels and taints, dated tables of EKS
versions and EC2 instance types. Renderers and checks read these; nothing here does I/O."""
