print("loyalty: under construction")
