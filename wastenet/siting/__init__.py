"""Two-echelon capacitated siting of transfer stations and incinerators."""
