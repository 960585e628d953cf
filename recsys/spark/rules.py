class SparkAssociationRules:
    pass
