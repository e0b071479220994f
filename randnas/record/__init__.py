"""The MLflow record: where it lives and how it is read (`store`), how a run is written (`writer`), one writer per
job (`locks`), the words every run shares (`vocabulary`), a portable and private committed copy (`portable`), and
whether it is whole (`integrity`). The only package that imports mlflow; what each kind of experiment logs and how
it is read back is `randnas.experiments`."""
