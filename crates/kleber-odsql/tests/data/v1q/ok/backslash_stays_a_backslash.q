nom:"x\\"
