class SparkALS:
    pass
