from smsseg.cli import main

main()
