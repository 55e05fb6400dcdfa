"""The command line: argparse and every subcommand (`gradc compile | check | render | fit | explain | ops`)."""
