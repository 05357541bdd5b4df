from ticketstream.intake.main import main

main()
