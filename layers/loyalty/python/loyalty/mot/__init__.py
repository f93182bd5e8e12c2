"""Key customer moments (MOT): rules that turn a moment into a task for the customer's relationship manager."""
