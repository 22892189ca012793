package scheduler

// idLength is the length of the ids that newID returns: 10 random bytes
// in base32 without padding.
const idLength = 16

// ValidID reports whether id has the form of a schedule id that newID
// returns: 16 characters from the lower-case base32 alphabet (a-z, 2-7).
func ValidID(id string) bool {
	if len(id) != idLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || '2' <= c && c <= '7') {
			return false
		}
	}
	return true
}
