package bolt

// collectEvery is how many keys a large registration puts between
// collections of its garbage (registry.CollectGarbage says why): each key
// Put may grow a bbolt node's list of keys, whose old copy is garbage.
const collectEvery = 1 << 14
