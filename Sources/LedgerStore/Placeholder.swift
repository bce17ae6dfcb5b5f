public enum LedgerStoreModule {}
